// Package roundtrip holds tests that run the host daemon's real code and
// the agent's real code against each other over a session like theirs,
// which neither side's packages may do: the agent does not import the
// host side, and the host imports nothing of the agent but its API. It
// has no code of its own.
package roundtrip
