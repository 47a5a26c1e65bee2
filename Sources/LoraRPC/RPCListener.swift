/// A listening socket of a `UnixSocketServer`: its descriptor and, when the server created the socket file, the
/// path and the file's identity (so that only that very file is removed, never a successor's).
struct RPCListener {
    /// The listening descriptor.
    var fd: Int32
    /// The socket file created by `listen(path:)`, nil for an adopted descriptor.
    var createdPath: String?
    /// The device and inode of the created file.
    var identity: (device: UInt64, inode: UInt64)?

    /// Removes the socket file if the server created it and it is still the same file.
    func removeFile() {
        guard let path = createdPath, let identity else { return }
        guard case .success(let now) = SocketSyscalls.fileIdentity(path),
              now.isSocket, now.device == identity.device, now.inode == identity.inode else { return }
        _ = SocketSyscalls.unlink(path)
    }
}
