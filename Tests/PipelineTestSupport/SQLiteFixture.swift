// Replaced by the SQLite backend's own fixture.
extension Backend {
    func makeSQLiteFixture() async throws -> RepositoryFixture {
        throw FixtureError("the SQLite backend is not built yet")
    }
}
