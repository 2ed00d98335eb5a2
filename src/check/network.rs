//! A cluster's network allocations (service and pod CIDRs), read from its values.
