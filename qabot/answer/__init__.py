"""From ranked passages to an answer: the answer sentence, the question's wording, the optional reader."""
