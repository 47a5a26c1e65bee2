import Glibc

extension UnixSocketServer {
    /// Creates the socket file at `path` with `configuration.socketMode` (never wider, even for an instant) and
    /// listens on it. A stale socket file (nothing accepts on it) is replaced; a live one, or a file that is not a
    /// socket, is refused.
    public func listen(path: String) throws(RPCServerError) {
        guard onQueue({ self.listener == nil }) else { throw .alreadyStarted }
        guard let address = SocketSyscalls.address(path) else { throw .pathTooLong(path) }
        try Self.clearStaleSocket(at: path, address: address)

        let fd: Int32
        switch SocketSyscalls.unixSocket() {
        case .success(let descriptor): fd = descriptor
        case .failure(let error): throw .system(call: "socket", path: path, errno: error.code, reason: error.reason)
        }
        // bind() gives the file the socket inode's mode less the umask: narrowing the inode first means the file
        // never exists with a wider mode; chmod then sets the exact mode whatever the umask.
        let mode = configuration.socketMode & 0o777
        _ = SocketSyscalls.fchmod(fd, mode)
        if let error = SocketSyscalls.bind(fd, address) {
            SocketSyscalls.close(fd)
            if error.code == EADDRINUSE { throw .alreadyListening(path) }
            throw .system(call: "bind", path: path, errno: error.code, reason: error.reason)
        }
        let identity = SocketSyscalls.fileIdentity(path)
        if let error = SocketSyscalls.chmod(path, mode) ?? SocketSyscalls.listen(fd, backlog: SOMAXCONN) {
            SocketSyscalls.close(fd)
            _ = SocketSyscalls.unlink(path)
            throw .system(call: "chmod/listen", path: path, errno: error.code, reason: error.reason)
        }
        SocketSyscalls.setNonBlockingCloseOnExec(fd)
        var listener = RPCListener(fd: fd, createdPath: path)
        if case .success(let file) = identity { listener.identity = (file.device, file.inode) }
        try install(listener)
        logger.info("listening", metadata: ["socket": "\(path)", "mode": "\(String(mode, radix: 8))"])
    }

    /// Listens on an inherited descriptor (systemd socket activation). It must be a listening `AF_UNIX`
    /// `SOCK_STREAM` socket; its file is never removed by this server.
    public func adopt(listeningDescriptor fd: Int32) throws(RPCServerError) {
        func check(_ option: Int32, _ expected: Int32, _ what: String) throws(RPCServerError) {
            switch SocketSyscalls.intOption(fd, option) {
            case .success(let value) where value == expected: return
            case .success(let value): throw .notAListeningSocket(descriptor: fd, reason: "\(what) is \(value)")
            case .failure(let error): throw .notAListeningSocket(descriptor: fd, reason: error.reason)
            }
        }
        try check(SO_DOMAIN, AF_UNIX, "its address family")
        try check(SO_TYPE, SocketSyscalls.streamType, "its socket type")
        try check(SO_ACCEPTCONN, 1, "its listening flag")
        SocketSyscalls.setNonBlockingCloseOnExec(fd)
        try install(RPCListener(fd: fd, createdPath: nil))
        logger.info("listening on an inherited socket", metadata: ["fd": "\(fd)"])
    }

    private func install(_ listener: RPCListener) throws(RPCServerError) {
        let installed = onQueue { () -> Bool in
            guard self.listener == nil else { return false }
            self.listener = listener
            return true
        }
        guard installed else {
            SocketSyscalls.close(listener.fd)
            listener.removeFile()
            throw .alreadyStarted
        }
    }

    /// Removes a stale socket file at `path`; throws when a server answers there or the path is not a socket.
    private static func clearStaleSocket(at path: String, address: sockaddr_un) throws(RPCServerError) {
        switch SocketSyscalls.fileIdentity(path) {
        case .failure(let error) where error.code == ENOENT: return
        case .failure(let error): throw .system(call: "lstat", path: path, errno: error.code, reason: error.reason)
        case .success(let file) where !file.isSocket: throw .notASocket(path)
        case .success: break
        }
        let probe: Int32
        switch SocketSyscalls.unixSocket() {
        case .success(let fd): probe = fd
        case .failure(let error): throw .system(call: "socket", path: path, errno: error.code, reason: error.reason)
        }
        let refused = SocketSyscalls.connect(probe, address)
        SocketSyscalls.close(probe)
        switch refused {
        case nil: throw .alreadyListening(path)
        case let error? where error.code == ECONNREFUSED:
            if let error = SocketSyscalls.unlink(path), error.code != ENOENT {
                throw .system(call: "unlink of the stale socket", path: path, errno: error.code, reason: error.reason)
            }
        case let error?:
            throw .system(call: "connect (to test whether the socket is live)", path: path, errno: error.code, reason: error.reason)
        }
    }
}
