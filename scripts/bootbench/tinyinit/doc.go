// Command tinyinit is the least a Linux init can do: it prints a marker
// on the console and powers the machine off. scripts/bootbench boots the
// machine's kernel with it to measure what the kernel alone costs.
package main
