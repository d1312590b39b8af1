package machine

func defaultDriver(string) string { return "vz" }
