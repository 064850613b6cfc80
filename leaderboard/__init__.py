"""All that the public sees: ranking tables, drilldowns and charts. Reads only."""
