"""What storage indexing needs in Azure, and the plan that compares it with what is there."""
