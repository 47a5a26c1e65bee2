import Foundation

/// A source directory for an import, checked before anything is written: the path resolved with every
/// symlink, a readable directory, holding the adapter's files as regular files (symlinks to them are fine: a
/// Hugging Face cache snapshot is made of them).
struct AdapterSource {
    /// The resolved directory.
    let directory: String

    /// Checks `url`; throws `RegistryError.invalidSource` saying what is wrong.
    init(_ url: URL) throws {
        let given = url.path
        func refuse(_ reason: String) -> RegistryError { .invalidSource(path: given, reason: reason) }
        let resolved: String
        do { resolved = try FileOperations.realPath(given) } catch let failure as FileOperations.Failure {
            throw refuse(Self.describe(failure.code, what: "the path"))
        }
        let st: stat
        do { st = try FileOperations.statFollowing(resolved) } catch let failure as FileOperations.Failure {
            throw refuse(Self.describe(failure.code, what: "the path"))
        }
        guard FileOperations.isDirectory(st.st_mode) else {
            throw refuse(FileOperations.isRegular(st.st_mode) ? "it is a file, not a directory" : "it is not a directory")
        }
        guard access(resolved, R_OK | X_OK) == 0 else {
            throw refuse(Self.describe(errno, what: "the directory"))
        }
        for file in AdapterDigest.files {
            let path = resolved + "/" + file
            let fileStat: stat
            do { fileStat = try FileOperations.statFollowing(path) } catch let failure as FileOperations.Failure {
                if failure.code == ENOENT, file == "adapter_model.safetensors",
                   (try? FileOperations.lstatMode(resolved + "/adapter_model.bin")) != nil {
                    throw refuse("it holds only adapter_model.bin, a Python pickle, which lorad never loads; convert it to adapter_model.safetensors (peft: save_pretrained(dir, safe_serialization=True))")
                }
                throw refuse(failure.code == ENOENT ? "it has no \(file)" : Self.describe(failure.code, what: file))
            }
            guard FileOperations.isRegular(fileStat.st_mode) else { throw refuse("\(file) is not a regular file") }
            guard access(path, R_OK) == 0 else { throw refuse(Self.describe(errno, what: file)) }
        }
        directory = resolved
    }

    static func describe(_ code: Int32, what: String) -> String {
        switch code {
        case ELOOP: return "\(what) is a symbolic link loop"
        case ENOENT: return "\(what) does not exist"
        case EACCES, EPERM: return "\(what) is not readable (permission denied)"
        case ENOTDIR: return "a component of \(what) is not a directory"
        default: return "\(what): \(String(cString: strerror(code)))"
        }
    }
}
