"""surveyplan"""
