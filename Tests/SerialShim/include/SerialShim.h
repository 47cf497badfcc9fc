#ifndef SERIAL_SHIM_H
#define SERIAL_SHIM_H

// Test-only: lets libserialport 0.1.1 open a pseudo-terminal. See SerialShim.c.

#include <stdbool.h>

/// Turns the shim on or off for the whole test process (off at start).
void serial_shim_set_enabled(bool enabled);

/// How many times the shim has answered for libserialport since the process
/// started: a test checks it grew, so it knows the real libserialport path ran
/// and was not silently skipped.
long serial_shim_answers(void);

#endif
