// systemd's notify protocol (sd_notify(3), Type=notify services): one AF_UNIX datagram per message
// ("READY=1", "WATCHDOG=1", "STOPPING=1") to the socket named by $NOTIFY_SOCKET, a path or, with a
// leading '@', an abstract name. Node has no AF_UNIX datagram sockets, hence native.
#pragma once
#include <sys/socket.h>
#include <sys/un.h>

#include <optional>
#include <string>
#include <string_view>

#include "fd.h"
#include "sys_error.h"

namespace hbd {

class NotifySocket {
 public:
  // Checks the address and opens the socket; no datagram is sent.
  std::optional<SysError> Open(const std::string& address);
  bool open() const { return fd_.valid(); }
  // Never blocks; no allocation.
  std::optional<SysError> Send(std::string_view text) const;

 private:
  Fd fd_;
  sockaddr_un addr_{};
  socklen_t addrLen_ = 0;
  std::string address_;
};

}  // namespace hbd
