// Command inotifywatch prints the inotify events of one folder as busybox
// inotifyd - prints them ("EVENTS\tFOLDER[\tNAME]", one letter per event:
// c modify, e attrib, w close-write, r open, m/y moved from/to, n create,
// d delete), for the end-to-end tests and fsbench: the bundled busybox
// has no inotifyd. Built static, it is bind-mounted into a container.
package main

import (
	"bytes"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

var letters = []struct {
	mask uint32
	c    byte
}{
	{unix.IN_MODIFY, 'c'}, {unix.IN_ATTRIB, 'e'}, {unix.IN_CLOSE_WRITE, 'w'}, {unix.IN_OPEN, 'r'},
	{unix.IN_MOVED_FROM, 'm'}, {unix.IN_MOVED_TO, 'y'}, {unix.IN_CREATE, 'n'}, {unix.IN_DELETE, 'd'},
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: inotifywatch FOLDER")
		os.Exit(2)
	}
	dir := os.Args[1]
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var mask uint32
	for _, l := range letters {
		mask |= l.mask
	}
	if _, err := unix.InotifyAddWatch(fd, dir, mask); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	buf := make([]byte, 64<<10)
	for {
		n, err := unix.Read(fd, buf)
		if err != nil || n <= 0 {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		var out bytes.Buffer
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
			name := bytes.TrimRight(buf[off+unix.SizeofInotifyEvent:off+unix.SizeofInotifyEvent+int(ev.Len)], "\x00")
			off += unix.SizeofInotifyEvent + int(ev.Len)
			var evs []byte
			for _, l := range letters {
				if ev.Mask&l.mask != 0 {
					evs = append(evs, l.c)
				}
			}
			if len(evs) == 0 {
				continue
			}
			if len(name) > 0 {
				fmt.Fprintf(&out, "%s\t%s\t%s\n", evs, dir, name)
			} else {
				fmt.Fprintf(&out, "%s\t%s\n", evs, dir)
			}
		}
		_, _ = os.Stdout.Write(out.Bytes())
	}
}
