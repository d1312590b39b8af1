// Package events is the agent's event bus: the container manager, the
// image service, the networks and the volumes publish what happens to
// their objects in docker's names, and the Events gRPC service sends them
// to clients (skiff events, the Docker API's /events) with docker's
// filters, from a bounded history of recent events and then live. What
// counts as an event, and when, is left to the publishers.
package events
