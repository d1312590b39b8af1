package containers

import (
	"testing"
)

func TestUpdateRequest(t *testing.T) {
	req, err := UpdateOptions{CPUs: "0.5", Memory: "128m", MemorySwap: "-1", PidsLimit: "50", Restart: "on-failure:2", CpusetCpus: "0"}.UpdateRequest("c")
	if err != nil {
		t.Fatal(err)
	}
	if req.GetNanoCpus() != 5e8 || req.GetMemory() != 128<<20 || req.GetMemorySwap() != -1 || req.GetPidsLimit() != 50 ||
		req.GetRestartPolicy().GetMaximumRetryCount() != 2 || req.GetCpusetCpus() != "0" || req.CpuShares != nil || req.MemoryReservation != nil {
		t.Errorf("request = %v", req)
	}
	for _, bad := range []UpdateOptions{{Memory: "lots"}, {CPUs: "x"}, {PidsLimit: "1.5"}, {Restart: "sometimes"}, {CPUShares: "many"}} {
		if _, err := bad.UpdateRequest("c"); err == nil {
			t.Errorf("%+v parsed", bad)
		}
	}
}
