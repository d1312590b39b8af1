package machine

const defaultDriver = "hcs"
