"""The LangGraph consultation: intake, ICD-10 coding, CPT coding, provider matching, summary."""
