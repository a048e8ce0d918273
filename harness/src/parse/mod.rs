//! Pure parsers of the procedure commands' output (kubeadm, etcdctl, kubectl, nginx, nc).
