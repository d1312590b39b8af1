package container

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math/big"
	"regexp"
	"sync"

	"github.com/containerd/errdefs"
)

// validName is Docker's rule for container names. It is compiled on
// first use, not at the start of every process that links the package:
// each container's init is this binary too.
var validName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`) })

func checkName(name string) error {
	if !validName().MatchString(name) {
		return fmt.Errorf("invalid container name %q: use at least two of [a-zA-Z0-9_.-], starting with a letter or digit: %w", name, errdefs.ErrInvalidArgument)
	}
	return nil
}

func newID() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

var (
	nameLeft = []string{
		"admiring", "agile", "bold", "brave", "calm", "clever", "cool",
		"eager", "gentle", "happy", "jolly", "keen", "kind", "lucid",
		"merry", "nimble", "quiet", "sharp", "steady", "swift", "tender",
		"vivid", "wise", "zen",
	}
	nameRight = []string{
		"albatross", "barracuda", "cormorant", "dolphin", "eider", "frigate",
		"gannet", "heron", "ibis", "jacana", "kittiwake", "loon", "marlin",
		"narwhal", "osprey", "petrel", "puffin", "skua", "tern", "walrus",
	}
)

// randomName makes a Docker-style adjective_noun name; taken reports
// whether a name is in use.
func randomName(taken func(string) bool) string {
	pick := func(list []string) string {
		n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(list))))
		return list[n.Int64()]
	}
	for i := 0; ; i++ {
		name := pick(nameLeft) + "_" + pick(nameRight)
		if i > 10 {
			name = fmt.Sprintf("%s%d", name, i)
		}
		if !taken(name) {
			return name
		}
	}
}
