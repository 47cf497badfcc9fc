// SerialShim: TEST-ONLY. Lets libserialport 0.1.1 open a pseudo-terminal.
//
// Why it exists. The Serial module's libserialport backend (open by name,
// sp_open, 8N1 and the rate through sp_set_config) is the code that drives the
// PH-1, and the tests must run that exact path. The only serial ports a test
// machine or CI has are pseudo-terminals, and libserialport 0.1.1 refuses them
// twice (its maintainers keep ptys out of scope: sigrokproject/libserialport
// PR #4):
//
//  1. sp_get_port_by_name("/dev/pts/N") looks the port up as
//     /sys/class/tty/pts/N: __lxstat() on that path, then readlink() of it
//     (or of .../device). Ptys have no such entry, so it answers SP_ERR_ARG.
//  2. sp_open() and every sp_set_*() read the modem lines with
//     ioctl(TIOCMGET), and may set RTS/DTR with ioctl(TIOCMBIS/TIOCMBIC). The
//     pty driver has no modem lines and the kernel answers ENOTTY, so they fail
//     with SP_ERR_FAIL.
//
// What it does, only while a test has enabled it (serial_shim_set_enabled):
//
//  - __lxstat / lstat on "/sys/class/tty/pts/<N>" says "a symlink", and
//    readlink of it gives "../../devices/virtual/tty/pts-shim" (no "usb", no
//    "bluetooth", so libserialport files the port as a native UART). Every
//    other path goes to the real call.
//  - ioctl(TIOCMGET / TIOCMSET / TIOCMBIS / TIOCMBIC) that the kernel has
//    already refused with ENOTTY succeeds instead, reporting no modem lines
//    set. Every other ioctl, and these on a real serial port, is the kernel's
//    answer unchanged.
//
// How it takes effect. These functions are defined in the test executable, and
// the dynamic linker resolves libserialport.so's references to __lxstat,
// readlink and ioctl to the executable's definitions before libc's (the static
// linker exports them because a shared library in the link uses them). No
// LD_PRELOAD, no change to libserialport.
//
// Where it must never be. Package.swift lists this target as a dependency of
// SerialTests only; pumpctl, pumpd and pumpsim do not link it, so a shipped
// binary never lies about modem lines or sysfs. Disabled, it forwards every call.

#define _GNU_SOURCE
#undef _FORTIFY_SOURCE
#include "SerialShim.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

static atomic_bool shim_enabled = false;
static atomic_long shim_answers = 0;

void serial_shim_set_enabled(bool enabled) { atomic_store(&shim_enabled, enabled); }

long serial_shim_answers(void) { return atomic_load(&shim_answers); }

static const char sysfs_pts[] = "/sys/class/tty/pts/";
static const char fake_link[] = "../../devices/virtual/tty/pts-shim";

// "/sys/class/tty/pts/<digits>", the name libserialport builds for /dev/pts/<digits>.
static bool is_pts_sysfs_entry(const char *path) {
    if (!atomic_load(&shim_enabled) || path == NULL) return false;
    if (strncmp(path, sysfs_pts, sizeof sysfs_pts - 1) != 0) return false;
    const char *n = path + sizeof sysfs_pts - 1;
    if (*n == '\0') return false;
    for (; *n; n++) {
        if (*n < '0' || *n > '9') return false;
    }
    return true;
}

static int fake_symlink_stat(struct stat *buf) {
    memset(buf, 0, sizeof *buf);
    buf->st_mode = S_IFLNK | 0777;
    buf->st_nlink = 1;
    buf->st_size = (off_t)(sizeof fake_link - 1);
    atomic_fetch_add(&shim_answers, 1);
    return 0;
}

// libserialport 0.1.1 as Debian 12 ships it was built against glibc < 2.33 and
// calls __lxstat(_STAT_VER, path, buf); the struct is the kernel's `struct stat`,
// the same layout as today's, so fstatat does the real work.
int __lxstat(int version, const char *path, struct stat *buf) {
    (void)version;
    if (is_pts_sysfs_entry(path)) return fake_symlink_stat(buf);
    return fstatat(AT_FDCWD, path, buf, AT_SYMLINK_NOFOLLOW);
}

// A libserialport rebuilt against glibc >= 2.33 calls lstat itself.
int lstat(const char *restrict path, struct stat *restrict buf) {
    if (is_pts_sysfs_entry(path)) return fake_symlink_stat(buf);
    return fstatat(AT_FDCWD, path, buf, AT_SYMLINK_NOFOLLOW);
}

ssize_t readlink(const char *restrict path, char *restrict buf, size_t size) {
    if (is_pts_sysfs_entry(path)) {
        size_t n = sizeof fake_link - 1;
        if (n > size) n = size;
        memcpy(buf, fake_link, n);
        atomic_fetch_add(&shim_answers, 1);
        return (ssize_t)n;
    }
    return readlinkat(AT_FDCWD, path, buf, size);
}

typedef int (*ioctl_fn)(int, unsigned long, ...);

int ioctl(int fd, unsigned long request, ...) {
    va_list ap;
    va_start(ap, request);
    void *arg = va_arg(ap, void *);
    va_end(ap);

    static _Atomic(ioctl_fn) real_ioctl = NULL;
    ioctl_fn real = atomic_load(&real_ioctl);
    if (real == NULL) {
        real = (ioctl_fn)dlsym(RTLD_NEXT, "ioctl");
        atomic_store(&real_ioctl, real);
    }
    int result = real(fd, request, arg);
    if (result == -1 && errno == ENOTTY && atomic_load(&shim_enabled)) {
        switch (request) {
        case TIOCMGET:
            if (arg != NULL) *(int *)arg = 0;  // no modem lines asserted
            atomic_fetch_add(&shim_answers, 1);
            return 0;
        case TIOCMSET:
        case TIOCMBIS:
        case TIOCMBIC:
            atomic_fetch_add(&shim_answers, 1);
            return 0;
        default:
            break;
        }
    }
    return result;
}
