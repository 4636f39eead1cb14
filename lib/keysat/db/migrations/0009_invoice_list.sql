-- Version 9: the admin invoice list (GET /v1/admin/invoices, the console's invoices page),
-- newest first across every status. An index by creation time lets the first page read only its
-- own rows; with a status, invoices_status (status, created_at) serves the same order.
CREATE INDEX invoices_created ON invoices (created_at);
