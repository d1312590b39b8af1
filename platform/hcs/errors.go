package hcs

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/containerd/errdefs"
)

// HRESULTs that need advice beyond HCS's own message. The HCS_E_ values
// are from Microsoft's HCS reference (hcshresult); the others are Win32
// errors as HRESULTs (0x8007xxxx).
const (
	hrAccessDenied        = 0x80070005 // E_ACCESSDENIED
	hrFileNotFound        = 0x80070002
	hrPathNotFound        = 0x80070003
	hrNotSupported        = 0x80070032
	hrSharingViolation    = 0x80070020
	hrDiskFull            = 0x80070070
	hrBadNetPath          = 0x80070035 // ERROR_BAD_NETPATH
	hrNetworkAccessDenied = 0x80070041 // ERROR_NETWORK_ACCESS_DENIED
	hrNotReady            = 0x80070015 // ERROR_NOT_READY: a drive with no media, or offline
	hrAlreadyExists       = 0x800700b7
	hrModNotFound         = 0x8007007e // computecore.dll missing
	hrProcNotFound        = 0x8007007f // an HCS function missing: Windows too old

	hcsTerminatedDuringStart = 0x80370100
	hcsHyperVNotInstalled    = 0x80370102
	hcsInvalidState          = 0x80370105
	hcsUnexpectedExit        = 0x80370106
	hcsInvalidJSON           = 0x8037010d
	hcsSystemNotFound        = 0x8037010e
	hcsSystemAlreadyExists   = 0x8037010f
	hcsSystemAlreadyStopped  = 0x80370110
	hcsServiceNotAvailable   = 0x80370114
	hcsOperationTimeout      = 0x80370118
	hcsAccessDenied          = 0x8037011b
	hcsGuestCriticalError    = 0x8037011c
	hcsServiceDisconnect     = 0x8037011e
	hcsNotConfigured         = 0x80370120
)

const adminAdvice = "run skiff as administrator, or join the Hyper-V Administrators group (an administrator runs: net localgroup \"Hyper-V Administrators\" %USERNAME% /add; then sign out and in again)"

const featureAdvice = "enable Hyper-V, or at least the Virtual Machine Platform (an administrator runs: dism /online /enable-feature /featurename:VirtualMachinePlatform /all, or Enable-WindowsOptionalFeature -Online -FeatureName Microsoft-Hyper-V -All), turn on virtualization in the firmware if Task Manager says it is off, and restart Windows"

// Advice says what the user can do about hr, or "" when nothing better
// than HCS's own message is known.
func Advice(hr uint32) string {
	switch hr {
	case hcsHyperVNotInstalled, hcsServiceNotAvailable, hrNotSupported:
		return featureAdvice
	case hcsAccessDenied, hrAccessDenied:
		return adminAdvice + "; if you are one already, a file the machine needs (its guest image or data disk) may deny access to Hyper-V's virtual machine accounts"
	case hrModNotFound, hrProcNotFound:
		return "this Windows has no Host Compute Service API (computecore.dll, Windows 10 1809 or Server 2019 and later); update Windows and " + featureAdvice
	case hrFileNotFound, hrPathNotFound:
		return "a file the machine needs is missing: build the guest image (make vmimage) or set SKIFF_VMIMAGE to its folder, and check that every shared folder exists"
	case hrBadNetPath, hrNetworkAccessDenied, hrNotReady:
		return "a shared folder is on a drive the machine cannot reach (a network or removable drive, or a disconnected one); share folders on local drives, or remove it with skiff machine set --unshare PATH"
	case hrSharingViolation:
		return "another program (or another machine) has the data disk open; stop it, or remove the machine with skiff machine rm"
	case hrDiskFull:
		return "the disk holding the machine is full; free space on it"
	case hcsSystemAlreadyExists, hrAlreadyExists:
		return "a VM of this machine is still registered with HCS (hcsdiag list shows it); stop it with skiff machine stop, or hcsdiag kill skiff-NAME"
	case hcsInvalidJSON:
		return "this Windows does not accept the machine's configuration; update Windows (Windows 10 1809 or Server 2019 and later, x64), and report the machine's daemon.log"
	case hcsTerminatedDuringStart, hcsUnexpectedExit, hcsGuestCriticalError:
		return "the guest stopped; its console log (skiff machine logs) says why"
	case hcsOperationTimeout:
		return "Hyper-V did not answer in time; try again, and check the Hyper-V Host Compute Service (vmcompute) in services.msc"
	case hcsServiceDisconnect:
		return "the Host Compute Service (vmcompute) stopped; start it again (an administrator runs: net start vmcompute)"
	}
	return ""
}

// Error is a failed HCS call: what skiff asked for, the HRESULT, the
// service's own message and the advice for the HRESULT.
type Error struct {
	Op     string // "create the VM", ...
	HR     uint32
	Msg    string // from the result document, or the system's text for HR
	Events []string
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "hcs: %s: ", e.Op)
	msg := strings.TrimRight(strings.TrimSpace(e.Msg), ".")
	if msg == "" {
		msg = "failed"
	}
	b.WriteString(msg)
	fmt.Fprintf(&b, " (HRESULT 0x%08X)", e.HR)
	for _, ev := range e.Events {
		if ev = strings.TrimSpace(ev); ev != "" && !strings.Contains(msg, ev) {
			b.WriteString("; " + ev)
		}
	}
	if a := Advice(e.HR); a != "" {
		b.WriteString("; " + a)
	}
	return b.String()
}

// Unwrap gives errdefs a category for the common cases.
func (e *Error) Unwrap() error {
	switch e.HR {
	case hcsAccessDenied, hrAccessDenied:
		return errdefs.ErrPermissionDenied
	case hcsHyperVNotInstalled, hcsServiceNotAvailable, hrNotSupported, hrModNotFound, hrProcNotFound:
		return errdefs.ErrNotImplemented
	case hcsSystemNotFound, hrFileNotFound, hrPathNotFound:
		return errdefs.ErrNotFound
	case hcsSystemAlreadyExists, hrAlreadyExists:
		return errdefs.ErrAlreadyExists
	case hcsSystemAlreadyStopped, hcsInvalidState:
		return errdefs.ErrFailedPrecondition
	}
	return nil
}

// resultDocument is the JSON HCS returns with a failed operation.
type resultDocument struct {
	Error        int32  `json:"Error"`
	ErrorMessage string `json:"ErrorMessage"`
	ErrorEvents  []struct {
		Message string `json:"Message"`
	} `json:"ErrorEvents"`
}

// newError builds the error of a failed call from its HRESULT and result
// document (possibly empty or not JSON); sysMsg is the system's message
// for hr, used when the document has none.
func newError(op string, hr uint32, result, sysMsg string) *Error {
	e := &Error{Op: op, HR: asHRESULT(hr), Msg: sysMsg}
	var doc resultDocument
	if result != "" && json.Unmarshal([]byte(result), &doc) == nil {
		if doc.Error != 0 {
			e.HR = asHRESULT(uint32(doc.Error))
		}
		if doc.ErrorMessage != "" {
			e.Msg = doc.ErrorMessage
		}
		for _, ev := range doc.ErrorEvents {
			e.Events = append(e.Events, ev.Message)
		}
	}
	return e
}

// IsHRESULT reports whether err is an HCS error with the HRESULT hr.
func IsHRESULT(err error, hr uint32) bool {
	var e *Error
	return errors.As(err, &e) && e.HR == hr
}

// asHRESULT turns a Win32 error code into its HRESULT (0x8007xxxx), so
// that one code names one failure whichever form a call returned.
func asHRESULT(code uint32) uint32 {
	if code != 0 && code <= 0xffff {
		return 0x80070000 | code
	}
	return code
}
