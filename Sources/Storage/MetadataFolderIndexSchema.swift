/// Migration version 24: METADATA entries found by their folder, so that deleting a folder (whose
/// entries go by the foreign key's cascade) reads an index instead of the table.
enum MetadataFolderIndexSchema {
    static let statements: [String] = [
        "CREATE INDEX mailbox_metadata_folder ON mailbox_metadata (grant_id, folder_id) WHERE folder_id IS NOT NULL",
    ]
}
