// Exposes sd_notify, sd_listen_fds and the journal API of libsystemd to Swift.
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>
