/// The stages of an import, reported through the progress callback in this order; `deduplicated` comes after
/// `committing`, and only when another name already holds the same files.
public enum ImportStep: Sendable, Equatable {
    /// Copying the source files into a temporary directory inside the state directory.
    case copying
    /// Hashing the copied files (done while copying; reported when the digest is known).
    case hashing
    /// Loading and validating the copy against the loaded model.
    case validating
    /// Moving the copy into place and inserting the row.
    case committing
    /// The files already exist under this digest; the copy is discarded and the stored files shared.
    case deduplicated
}
