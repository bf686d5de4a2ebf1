-- The employee list (GET /api/employees) pages a company's employees by lowercased name, then id:
-- this index serves that order and its keyset cursor, so a page of a 10,000-employee company
-- reads only its rows.
CREATE INDEX employees_company_name ON employees (company_id, lower(display_name), id);
