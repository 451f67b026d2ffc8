"""Rising topics: counts of key phrases and categories by week, and the statistic that says what rose."""
