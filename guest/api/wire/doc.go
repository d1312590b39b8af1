// Package wire defines the byte formats and names that the host and the
// agent agree on outside gRPC: the hello that opens every connection
// between them, the header of a session stream that carries a published
// port's connection, the framing of UDP datagrams on such a stream, the
// header that names the host service of a stream the agent opens, the
// skiff.* keys of the guest's kernel command line, and the names of the
// files in a machine's directory that more than one program finds. Each
// format has its writer and its reader here, side by side, so the two
// ends cannot drift apart. The gRPC contract is guest/api/v1; what the
// streams carry and when they are opened is left to the two ends.
package wire
