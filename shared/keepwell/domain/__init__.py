"""Pure business rules: no AWS clients, no storage imports; unit-tested on their own."""
