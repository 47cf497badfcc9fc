#ifndef C_POSIX_EXTRAS_H
#define C_POSIX_EXTRAS_H

#include <stddef.h>

// Calls that Swift's Glibc module does not export (X/Open pty calls and
// Linux's signalfd), each wrapped in one small function.

/// Opens a new pseudo-terminal master (posix_openpt, grantpt, unlockpt) and
/// writes the slave's path into `slave_path`. Returns the master descriptor,
/// or -1 with errno set.
int pty_open_master(char *slave_path, size_t size);

/// Blocks SIGTERM and SIGINT for the calling thread and returns a
/// non-blocking descriptor that becomes readable when one arrives, so a poll
/// loop can stop cleanly. Returns -1 with errno set on failure.
int termination_signal_fd(void);

#endif
