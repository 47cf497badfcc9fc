// libserialport 0.1.1 (Debian's libserialport-dev), the backend for real serial
// ports; see Sources/Serial/LibSerialPortBackend.swift.
#include <libserialport.h>
