#include "CTermios2.h"

#include <errno.h>

#ifdef __linux__
#include <asm/termbits.h>
#include <sys/ioctl.h>

int ctermios2_speeds(int fd, unsigned int *input, unsigned int *output) {
    struct termios2 t;
    if (ioctl(fd, TCGETS2, &t) != 0) return -1;
    *input = t.c_ispeed;
    *output = t.c_ospeed;
    return 0;
}
#else
int ctermios2_speeds(int fd, unsigned int *input, unsigned int *output) {
    (void)fd; (void)input; (void)output;
    errno = ENOSYS;
    return -1;
}
#endif
