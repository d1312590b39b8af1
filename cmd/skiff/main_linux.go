package main

// Linux hosts can run the agent directly, with no VM.
import _ "github.com/skiffrun/skiff/platform/native"
