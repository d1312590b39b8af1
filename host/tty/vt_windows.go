package tty

import "golang.org/x/sys/windows"

// vtOutput makes the console's screen buffer interpret the escape
// sequences a container's terminal writes (colours, cursor moves, the
// screen clears of editors), which a classic console window prints as
// text unless asked; raw mode (x/term) changes only the input side. The
// container's terminal ends lines with CR LF itself, so the console must
// not add a CR too. It returns what restores the console; on a Windows
// without virtual terminal support it does nothing.
func vtOutput() (undo func()) {
	name, err := windows.UTF16PtrFromString("CONOUT$")
	if err != nil {
		return func() {}
	}
	// CONOUT$ is the active screen buffer whatever stdout is redirected
	// to; its mode is the buffer's, shared with stdout when that is it.
	h, err := windows.CreateFile(name, windows.GENERIC_READ|windows.GENERIC_WRITE,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE, nil, windows.OPEN_EXISTING, 0, 0)
	if err != nil {
		return func() {}
	}
	var mode uint32
	if err := windows.GetConsoleMode(h, &mode); err != nil {
		_ = windows.CloseHandle(h)
		return func() {}
	}
	if err := windows.SetConsoleMode(h, mode|windows.ENABLE_VIRTUAL_TERMINAL_PROCESSING|windows.DISABLE_NEWLINE_AUTO_RETURN); err != nil {
		_ = windows.CloseHandle(h)
		return func() {}
	}
	return func() {
		_ = windows.SetConsoleMode(h, mode)
		_ = windows.CloseHandle(h)
	}
}
