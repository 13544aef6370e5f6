// Replaced by the JSONL backend's fixture.
extension Backend {
    func makeJSONLFixture() async throws -> RepositoryFixture {
        throw FixtureError("the JSONL backend is not built yet")
    }
}
