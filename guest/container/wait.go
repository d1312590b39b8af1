package container

import (
	"google.golang.org/grpc"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

// WaiterService serves the Waiter gRPC API from a Manager.
type WaiterService struct {
	apiv1.UnimplementedWaiterServer
	m *Manager
}

var _ apiv1.WaiterServer = (*WaiterService)(nil)

// NewWaiterService returns the Waiter service of m.
func NewWaiterService(m *Manager) *WaiterService { return &WaiterService{m: m} }

// Wait tells the client once the wait holds, then the exit.
func (s *WaiterService) Wait(req *apiv1.WaitRequest, st grpc.ServerStreamingServer[apiv1.WaitEvent]) error {
	var sendErr error
	armed := func() {
		sendErr = st.Send(&apiv1.WaitEvent{Msg: &apiv1.WaitEvent_Armed{Armed: &apiv1.Empty{}}})
	}
	code, msg, err := s.m.WaitArmed(st.Context(), req.Id, req.Condition, armed)
	if err != nil {
		return err
	}
	if sendErr != nil {
		return sendErr
	}
	return st.Send(&apiv1.WaitEvent{Msg: &apiv1.WaitEvent_Result{Result: &apiv1.WaitResponse{ExitCode: code, Error: msg}}})
}
