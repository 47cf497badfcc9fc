#ifndef CTERMIOS2_H
#define CTERMIOS2_H

// The line's real rates, read with Linux's TCGETS2. glibc's cfgetospeed()
// only knows the Bnnn constants, and libserialport sets rates above 460800
// (921600, ICD §1) as BOTHER plus a number, which only termios2 shows. In a
// file of its own because <asm/termbits.h> and glibc's <termios.h> both define
// struct termios and cannot be included together.

/// Stores the input and output rates in bits per second. Returns 0, or -1 with
/// errno set (ENOTTY for a non-terminal; ENOSYS where there is no TCGETS2).
int ctermios2_speeds(int fd, unsigned int *input, unsigned int *output);

#endif
