-- Invoices can be voided and their exceptions accepted, so they carry a status and a version
-- (If-Match) as other documents do; credit notes are invoices of another type, credited against
-- the same purchase order lines. The invoices already recorded are RECORDED invoices at version 1.
ALTER TABLE invoices
  ADD COLUMN type text NOT NULL DEFAULT 'INVOICE' CHECK (type IN ('INVOICE', 'CREDIT_NOTE')),
  ADD COLUMN status text NOT NULL DEFAULT 'RECORDED' CHECK (status IN ('RECORDED', 'VOID')),
  ADD COLUMN version integer NOT NULL DEFAULT 1,
  ADD COLUMN accepted_by text,
  ADD COLUMN accepted_reason text,
  -- Only an exception is accepted, and always with its reason.
  ADD CHECK ((accepted_by IS NULL) = (accepted_reason IS NULL)),
  ADD CHECK (accepted_by IS NULL OR match_status = 'EXCEPTION');

-- Credit notes are kept apart from invoices on the line, so that both stay readable; what is
-- credited never exceeds what is invoiced (a void document counts in neither).
ALTER TABLE purchase_order_lines
  ADD COLUMN qty_credited numeric NOT NULL DEFAULT 0 CHECK (qty_credited >= 0),
  ADD CHECK (qty_credited <= qty_invoiced);
