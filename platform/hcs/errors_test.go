package hcs

import (
	"errors"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
)

func TestErrorMessages(t *testing.T) {
	tests := []struct {
		name    string
		hr      uint32
		result  string
		sysMsg  string
		want    []string
		wantNot []string
		class   error
	}{
		{
			name:   "not an administrator",
			hr:     0x8037011b,
			result: `{"Error":-2143878885,"ErrorMessage":"Insufficient privileges. Only administrators or users that are members of the Hyper-V Administrators user group are permitted to access virtual machines or containers."}`,
			want:   []string{"hcs: create the VM: Insufficient privileges", "(HRESULT 0x8037011B)", "run skiff as administrator", "Hyper-V Administrators group"},
			class:  errdefs.ErrPermissionDenied,
		},
		{
			name:   "Hyper-V not enabled",
			hr:     0x80370102,
			sysMsg: "The virtual machine could not be started because a required feature is not installed.",
			want:   []string{"required feature is not installed (HRESULT 0x80370102)", "VirtualMachinePlatform", "restart Windows"},
			class:  errdefs.ErrNotImplemented,
		},
		{
			name:   "result document wins over the call's code",
			hr:     0x80370100,
			result: `{"Error":-2147024891,"ErrorMessage":"Access is denied.","ErrorEvents":[{"Message":"'skiff-default' failed to open C:\\skiff\\data.vhdx"}]}`,
			want:   []string{"Access is denied (HRESULT 0x80070005)", "failed to open C:\\skiff\\data.vhdx", "Hyper-V's virtual machine accounts"},
			class:  errdefs.ErrPermissionDenied,
		},
		{
			name:   "win32 code as returned by a missing DLL",
			hr:     126,
			sysMsg: "The specified module could not be found.",
			want:   []string{"(HRESULT 0x8007007E)", "computecore.dll"},
			class:  errdefs.ErrNotImplemented,
		},
		{
			name:   "share on a network drive",
			hr:     0x80070035,
			sysMsg: "The network path was not found.",
			want:   []string{"network path was not found", "local drives", "--unshare"},
		},
		{
			name:    "unknown HRESULT keeps its message and code",
			hr:      0x8037ffff,
			result:  `not json`,
			sysMsg:  "Something odd.",
			want:    []string{"hcs: create the VM: Something odd (HRESULT 0x8037FFFF)"},
			wantNot: []string{"; "},
		},
		{
			name: "no message at all",
			hr:   0x80004005,
			want: []string{"hcs: create the VM: failed (HRESULT 0x80004005)"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := error(newError("create the VM", tc.hr, tc.result, tc.sysMsg))
			msg := err.Error()
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q lacks %q", msg, w)
				}
			}
			for _, w := range tc.wantNot {
				if strings.Contains(msg, w) {
					t.Errorf("message %q has %q", msg, w)
				}
			}
			if tc.class != nil && !errors.Is(err, tc.class) {
				t.Errorf("errors.Is(%v, %v) = false", err, tc.class)
			}
		})
	}
}

func TestAdviceCoversWhatUsersHit(t *testing.T) {
	for _, hr := range []uint32{hcsHyperVNotInstalled, hcsServiceNotAvailable, hcsAccessDenied, hrAccessDenied, hrModNotFound, hrBadNetPath, hcsSystemAlreadyExists} {
		if Advice(hr) == "" {
			t.Errorf("no advice for 0x%08X", hr)
		}
	}
	if a := Advice(0x80370111); a != "" {
		t.Errorf("advice for a protocol error: %q", a)
	}
}

func TestIsHRESULT(t *testing.T) {
	err := errors.Join(errors.New("other"), newError("start the VM", 0x80370110, "", ""))
	if !IsHRESULT(err, hcsSystemAlreadyStopped) || IsHRESULT(err, hcsAccessDenied) {
		t.Errorf("IsHRESULT does not find 0x80370110 in %v", err)
	}
}
