package machine

// defaultDriver is native until the qemu driver lands; then it becomes
// qemu where KVM works.
const defaultDriver = "native"
