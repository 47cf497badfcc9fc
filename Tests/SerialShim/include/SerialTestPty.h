#ifndef SERIAL_TEST_PTY_H
#define SERIAL_TEST_PTY_H

// Test-only: pseudo-terminal pairs for the serial tests (POSIX's pty calls are
// not visible through Swift's Glibc module). Nothing here fakes anything.

#include <stddef.h>

/// Opens a pty master (posix_openpt, grantpt, unlockpt; O_RDWR | O_NOCTTY |
/// O_CLOEXEC) and writes the slave's path into `slave_path`. Returns the
/// master's fd, or -1 with errno set.
int serial_test_open_pty(char *slave_path, size_t size);

#endif
