public import PipelineCore

// MARK: - Other unique keys of a table the service does not own

extension SQLStatements {
    /// The stored run whose `fields` hold the values `run` has in them: the run that a unique key
    /// on those fields' columns (other than the run's own key) found taken.
    func runByUniqueKey(_ fields: [PipelineField], of run: PipelineInfo) -> SQLStatement {
        var binds = SQLBinds(dialect)
        let conditions = fields.map { field in "\(layout.conditionExpression(field)) = \(binds.bind(run.value(of: field)))" }
        return binds.statement(
            "SELECT \(selectList) FROM \(layout.quotedTable)\(whereClause(conditions)) ORDER BY \(layout.quotedIDColumn) DESC LIMIT 1"
        )
    }
}

extension SQLTableLayout {
    /// The field stored in the column of this name, as the table spells it; nil for the id column
    /// or a column no field is stored in.
    public func field(forColumn name: String) -> PipelineField? {
        storedFields.first { column($0) == name }
    }
}
