package machine

func defaultDriver(string) string { return "hcs" }
