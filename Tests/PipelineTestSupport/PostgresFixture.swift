// Replaced by the Postgres backend's own fixture.
extension Backend {
    func makePostgresFixture() async throws -> RepositoryFixture {
        throw FixtureError("the Postgres backend is not built yet")
    }
}
