// Command skiff-agent runs containers for skiff. In the machine it is PID
// 1; with the native driver it runs as a daemon on a Linux host. It serves
// the gRPC API of guest/api/v1 on a unix socket (or, in the machine, over
// the connection to the host).
package main
