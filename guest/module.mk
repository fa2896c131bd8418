# guest rules
