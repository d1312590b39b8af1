package hcs

import (
	"context"
	"errors"
	"math"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

// The flat C API of the Host Compute Service (Windows 10 1809, Server 2019
// and later). Every call that changes a compute system takes an
// operation, whose result (an HRESULT and a JSON document) is collected
// with HcsWaitForOperationResult.
var (
	computecore = windows.NewLazySystemDLL("computecore.dll")

	procHcsCreateOperation            = computecore.NewProc("HcsCreateOperation")
	procHcsCloseOperation             = computecore.NewProc("HcsCloseOperation")
	procHcsWaitForOperationResult     = computecore.NewProc("HcsWaitForOperationResult")
	procHcsCreateComputeSystem        = computecore.NewProc("HcsCreateComputeSystem")
	procHcsStartComputeSystem         = computecore.NewProc("HcsStartComputeSystem")
	procHcsShutDownComputeSystem      = computecore.NewProc("HcsShutDownComputeSystem")
	procHcsTerminateComputeSystem     = computecore.NewProc("HcsTerminateComputeSystem")
	procHcsCloseComputeSystem         = computecore.NewProc("HcsCloseComputeSystem")
	procHcsGetComputeSystemProperties = computecore.NewProc("HcsGetComputeSystemProperties")
	procHcsSetComputeSystemCallback   = computecore.NewProc("HcsSetComputeSystemCallback")
	procHcsGrantVMAccess              = computecore.NewProc("HcsGrantVmAccess")
	allProcs                          = []*windows.LazyProc{
		procHcsCreateOperation, procHcsCloseOperation, procHcsWaitForOperationResult,
		procHcsCreateComputeSystem, procHcsStartComputeSystem, procHcsShutDownComputeSystem,
		procHcsTerminateComputeSystem, procHcsCloseComputeSystem,
		procHcsGetComputeSystemProperties, procHcsSetComputeSystemCallback, procHcsGrantVMAccess,
	}
)

// HCS event types (HCS_EVENT_TYPE) the driver handles.
const (
	hcsEventSystemExited      = 0x00000001
	hcsEventServiceDisconnect = 0x02000000
)

// loadAPI reports a Windows without the HCS API, or without a function
// the driver calls, with what to do about it.
func loadAPI() error {
	if err := computecore.Load(); err != nil {
		return newError("load computecore.dll", errnoOf(err, hrModNotFound), "", "")
	}
	for _, p := range allProcs {
		if err := p.Find(); err != nil {
			return newError("find "+p.Name+" in computecore.dll", errnoOf(err, hrProcNotFound), "", "")
		}
	}
	return nil
}

// errnoOf is the Win32 code inside err, or def.
func errnoOf(err error, def uint32) uint32 {
	var errno windows.Errno
	if errors.As(err, &errno) {
		return uint32(errno)
	}
	return def
}

func failed(hr uintptr) bool { return int32(uint32(hr)) < 0 }

// sysMessage is Windows' own text for hr, "" when it has none.
func sysMessage(hr uint32) string {
	msg := windows.Errno(hr).Error()
	if len(msg) > 6 && msg[:6] == "winapi" { // "winapi error #N": no text
		return ""
	}
	return msg
}

func utf16(s string) *uint16 {
	p, err := windows.UTF16PtrFromString(s)
	if err != nil { // a NUL inside s: JSON and paths never have one
		p, _ = windows.UTF16PtrFromString("")
	}
	return p
}

// operation runs one HCS call: start issues it with a new operation
// handle, and the operation's result is awaited until ctx's deadline.
// HCS calls cannot be abandoned half-way, so a ctx without a deadline
// waits as long as HCS takes.
func operation(ctx context.Context, what string, start func(op uintptr) uintptr) (string, error) {
	op, _, _ := procHcsCreateOperation.Call(0, 0)
	if op == 0 {
		return "", newError(what, hrNotEnoughMemory, "", "could not create an HCS operation")
	}
	defer func() { _, _, _ = procHcsCloseOperation.Call(op) }()
	if hr := start(op); failed(hr) {
		return "", newError(what, uint32(hr), "", sysMessage(uint32(hr)))
	}
	timeout := uint32(math.MaxUint32) // INFINITE
	if dl, ok := ctx.Deadline(); ok {
		timeout = uint32(max(time.Until(dl), 0) / time.Millisecond)
	}
	var doc *uint16
	hr, _, _ := procHcsWaitForOperationResult.Call(op, uintptr(timeout), uintptr(unsafe.Pointer(&doc)))
	result := takeString(doc)
	if failed(hr) {
		return result, newError(what, uint32(hr), result, sysMessage(uint32(hr)))
	}
	return result, nil
}

// takeString copies a string HCS allocated and frees it.
func takeString(p *uint16) string {
	if p == nil {
		return ""
	}
	s := windows.UTF16PtrToString(p)
	_, _ = windows.LocalFree(windows.Handle(unsafe.Pointer(p)))
	return s
}

// E_OUTOFMEMORY, for a NULL operation handle.
const hrNotEnoughMemory = 0x8007000e

// computeSystem is an open HCS_SYSTEM handle.
type computeSystem uintptr

func createComputeSystem(ctx context.Context, id string, document []byte) (computeSystem, error) {
	var sys computeSystem
	_, err := operation(ctx, "create the VM", func(op uintptr) uintptr {
		hr, _, _ := procHcsCreateComputeSystem.Call(
			uintptr(unsafe.Pointer(utf16(id))), uintptr(unsafe.Pointer(utf16(string(document)))),
			op, 0, uintptr(unsafe.Pointer(&sys)))
		return hr
	})
	if err != nil && sys != 0 {
		sys.close()
		sys = 0
	}
	return sys, err
}

func (s computeSystem) start(ctx context.Context) error {
	_, err := operation(ctx, "start the VM", func(op uintptr) uintptr {
		hr, _, _ := procHcsStartComputeSystem.Call(uintptr(s), op, 0)
		return hr
	})
	return err
}

func (s computeSystem) shutDown(ctx context.Context) error {
	_, err := operation(ctx, "shut the VM down", func(op uintptr) uintptr {
		hr, _, _ := procHcsShutDownComputeSystem.Call(uintptr(s), op, 0)
		return hr
	})
	return err
}

func (s computeSystem) terminate(ctx context.Context) error {
	_, err := operation(ctx, "terminate the VM", func(op uintptr) uintptr {
		hr, _, _ := procHcsTerminateComputeSystem.Call(uintptr(s), op, 0)
		return hr
	})
	return err
}

func (s computeSystem) properties(ctx context.Context) (string, error) {
	return operation(ctx, "read the VM's properties", func(op uintptr) uintptr {
		hr, _, _ := procHcsGetComputeSystemProperties.Call(uintptr(s), op, 0)
		return hr
	})
}

func (s computeSystem) close() { _, _, _ = procHcsCloseComputeSystem.Call(uintptr(s)) }

// grantVMAccess lets the VM's worker process, which runs as an account
// of its own, open path (HcsGrantVmAccess adds it to the file's ACL).
func grantVMAccess(id, path string) error {
	hr, _, _ := procHcsGrantVMAccess.Call(uintptr(unsafe.Pointer(utf16(id))), uintptr(unsafe.Pointer(utf16(path))))
	if failed(hr) {
		return newError("let the VM open "+path, uint32(hr), "", sysMessage(uint32(hr)))
	}
	return nil
}

// hcsEvent is HCS_EVENT.
type hcsEvent struct {
	Type      uint32
	EventData *uint16
	Operation uintptr
}

// One callback serves every compute system: Windows allows a process only
// so many callbacks, and never frees one. The context HCS passes back is
// a key into systems.
var (
	eventCallback = windows.NewCallback(onEvent)
	systemsMu     sync.Mutex
	systems       = map[uintptr]func(eventType uint32, data string){}
	nextSystem    uintptr
)

func onEvent(event *hcsEvent, key uintptr) uintptr {
	if event == nil {
		return 0
	}
	data := ""
	if event.EventData != nil {
		data = windows.UTF16PtrToString(event.EventData) // owned by HCS
	}
	systemsMu.Lock()
	f := systems[key]
	systemsMu.Unlock()
	if f != nil {
		f(event.Type, data)
	}
	return 0
}

// notify calls f with each event of the compute system until the
// returned function unregisters it.
func (s computeSystem) notify(f func(eventType uint32, data string)) (func(), error) {
	systemsMu.Lock()
	nextSystem++
	key := nextSystem
	systems[key] = f
	systemsMu.Unlock()
	forget := func() {
		systemsMu.Lock()
		delete(systems, key)
		systemsMu.Unlock()
	}
	hr, _, _ := procHcsSetComputeSystemCallback.Call(uintptr(s), 0, key, eventCallback)
	if failed(hr) {
		forget()
		return nil, newError("watch the VM", uint32(hr), "", sysMessage(uint32(hr)))
	}
	return forget, nil
}
