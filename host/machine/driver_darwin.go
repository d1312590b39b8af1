package machine

const defaultDriver = "vz"
