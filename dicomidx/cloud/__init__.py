"""Everything that talks to Azure through its SDKs; imported only when a cloud command runs."""
