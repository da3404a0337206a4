"""What users said of answers and what they asked that was not found."""
