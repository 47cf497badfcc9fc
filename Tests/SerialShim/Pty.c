// Test-only pty pairs; see SerialTestPty.h. Unrelated to the shim in SerialShim.c,
// which it shares a target with only because both are test-only C.

#define _GNU_SOURCE
#include "SerialTestPty.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

int serial_test_open_pty(char *slave_path, size_t size) {
    int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0) return -1;
    if (grantpt(master) != 0 || unlockpt(master) != 0 || ptsname_r(master, slave_path, size) != 0) {
        int saved = errno;
        close(master);
        errno = saved;
        return -1;
    }
    return master;
}
